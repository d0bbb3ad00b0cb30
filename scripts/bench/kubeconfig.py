"""The admin kubeconfig Shoal writes, read for the bench clients: the server's host and port,
the bearer token, and a TLS context trusting the master's CA (from the embedded data)."""
import base64, ssl, tempfile

def read(path):
    def field(name):
        for line in open(path):
            line = line.strip()
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip().strip('"')
    cafile = tempfile.NamedTemporaryFile(delete=False, suffix=".crt")
    cafile.write(base64.b64decode(field("certificate-authority-data")))
    cafile.close()
    host, port = field("server").replace("https://", "").rsplit(":", 1)
    return host, int(port), field("token"), ssl.create_default_context(cafile=cafile.name)

def caller(path):
    """A one-request-per-connection JSON client for the kubeconfig's master:
    call(method, path, body=None, content_type="application/json") -> (status, body bytes)."""
    import http.client, json
    host, port, token, ctx = read(path)
    def call(method, p, body=None, content_type="application/json"):
        c = http.client.HTTPSConnection(host, port, context=ctx, timeout=60)
        c.request(method, p, body=json.dumps(body) if body is not None else None,
                  headers={"Authorization": "Bearer " + token, "Content-Type": content_type})
        r = c.getresponse(); data = r.read(); c.close()
        return r.status, data
    return call

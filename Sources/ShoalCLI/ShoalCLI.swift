public enum ShoalCLIMain { public static func main() {} }

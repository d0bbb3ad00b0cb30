import Testing

@Test func placeholderShoalIntegrationTests() {}

import Testing

@Test func placeholderShoalRuntimeTests() {}

import Testing

@Test func placeholderShoalAPITests() {}

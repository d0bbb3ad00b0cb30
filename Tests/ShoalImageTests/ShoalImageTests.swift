import Testing

@Test func placeholderShoalImageTests() {}

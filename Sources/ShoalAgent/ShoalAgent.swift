// ShoalAgent

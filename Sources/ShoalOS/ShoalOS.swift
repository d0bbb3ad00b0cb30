// ShoalOS

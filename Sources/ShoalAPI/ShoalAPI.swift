// ShoalAPI

// ShoalImage

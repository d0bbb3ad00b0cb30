// ShoalRuntime

package images

import "fmt"

// formatBytes prints n for a message: "1.5 GiB (1610612736 bytes)".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	v, exp := float64(n), 0
	for v >= unit && exp < 6 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", v, "KMGTPE"[exp-1], n)
}

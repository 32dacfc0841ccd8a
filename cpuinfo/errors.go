package cpuinfo

import "errors"

// Sentinel errors. Callers test them with errors.Is; the messages around
// them name the model, feature, file or field concerned.
var (
	// ErrNoQEMU: the QEMU binary is not installed or not executable.
	ErrNoQEMU = errors.New("qemu binary not found")
	// ErrQMP: QEMU answered a QMP command with an error, or broke the
	// protocol.
	ErrQMP = errors.New("qmp")
	// ErrNoCPUInfo: /proc/cpuinfo lacks the vendor or the flags.
	ErrNoCPUInfo = errors.New("cpuinfo incomplete")
	// ErrInvalidConfig: a Config field has a bad value.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrInvalidFacts: a facts file is malformed or inconsistent.
	ErrInvalidFacts = errors.New("invalid cpu facts")
	// ErrUnknownClassType: CPUArg got a class type it does not know.
	ErrUnknownClassType = errors.New("unknown cpu class type")
	// ErrModelNotUsable: the named model cannot run on this node with
	// its accelerator.
	ErrModelNotUsable = errors.New("cpu model not usable on this node")
	// ErrFeatureNotAvailable: the node cannot give a guest a feature the
	// class enables.
	ErrFeatureNotAvailable = errors.New("cpu feature not available on this node")
	// ErrNoFeatures: a Features or Discovery class enables no feature.
	ErrNoFeatures = errors.New("no cpu features enabled")
)

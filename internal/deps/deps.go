package deps
import (
 _ "github.com/hashicorp/raft"
 _ "github.com/hashicorp/raft-boltdb/v2"
 _ "github.com/hashicorp/go-memdb"
 _ "github.com/urfave/cli/v2"
 _ "github.com/stretchr/testify/require"
 _ "sigs.k8s.io/yaml"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "github.com/coreos/go-systemd/v22/daemon"
 _ "github.com/hashicorp/raft-autopilot"
 _ "github.com/anishathalye/porcupine"
)

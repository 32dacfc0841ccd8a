package api

// Secret holds credentials or cloud-init data (davit/v1), as a Kubernetes
// Secret does: Data values are base64.
type Secret struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Type     string            `json:"type,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
}

// Secret types davit knows.
const (
	SecretTypeOpaque       = "Opaque"
	SecretTypeCloudInit    = "provisioning.virtualization.deckhouse.io/cloud-init"
	SecretTypeSysprep      = "provisioning.virtualization.deckhouse.io/sysprep"
	SecretTypeDockerConfig = "kubernetes.io/dockerconfigjson"
)

// GetTypeMeta implements Resource.
func (r *Secret) GetTypeMeta() *TypeMeta { return &r.TypeMeta }

// GetObjectMeta implements Resource.
func (r *Secret) GetObjectMeta() *ObjectMeta { return &r.Metadata }

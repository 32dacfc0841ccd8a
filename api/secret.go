package api

import (
	"encoding/base64"
	"fmt"
)

// Secret holds credentials or cloud-init data (davit/v1), as a Kubernetes
// Secret does: Data values are base64.
type Secret struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta        `json:"metadata"`
	Type     string            `json:"type,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	// StringData is write-only plain text, as in Kubernetes: Default
	// encodes it into Data (overriding the same keys) and clears it.
	StringData map[string]string `json:"stringData,omitempty"`
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

// MaxSecretBytes bounds a secret's decoded data, as Kubernetes does.
const MaxSecretBytes = 1 << 20

// Default implements Defaulter: type Opaque, and stringData moved into
// data as base64.
func (r *Secret) Default() {
	setDefault(&r.Type, SecretTypeOpaque)
	if len(r.StringData) == 0 {
		r.StringData = nil
		return
	}
	if r.Data == nil {
		r.Data = map[string]string{}
	}
	for k, v := range r.StringData {
		r.Data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	r.StringData = nil
}

// Validate implements Validator: keys are config keys, values base64, the
// provisioning types hold the keys the VM reads.
func (r *Secret) Validate() FieldErrors {
	errs := validateMeta(&r.Metadata, nameRule{namespaced: true})
	total := 0
	for _, k := range sortedStringKeys(r.Data) {
		p := "data[" + k + "]"
		if len(k) > 253 || !configKeyRE.MatchString(k) {
			errs.Add(ErrInvalid, "data", "keys must consist of letters, digits, '-', '_' or '.'", k)
		}
		b, err := base64.StdEncoding.DecodeString(r.Data[k])
		if err != nil {
			errs.Add(ErrInvalid, p, "must be base64-encoded")
		}
		total += len(b)
	}
	if total > MaxSecretBytes {
		errs.Add(ErrTooLong, "data", fmt.Sprintf("must hold at most %d bytes", MaxSecretBytes), total)
	}
	switch r.Type {
	case SecretTypeCloudInit:
		if _, ok := r.Data["userData"]; !ok {
			errs.Add(ErrRequired, "data[userData]", "a cloud-init secret holds its user data under the key userData")
		}
	case SecretTypeSysprep:
		_, a := r.Data["autounattend.xml"]
		_, u := r.Data["unattend.xml"]
		if !a && !u {
			errs.Add(ErrRequired, "data[autounattend.xml]", "a sysprep secret holds autounattend.xml or unattend.xml")
		}
	}
	return errs
}

// ValidateUpdate implements Validator; a secret may change freely.
func (r *Secret) ValidateUpdate(old Resource) FieldErrors {
	if _, ok := old.(*Secret); !ok {
		return wrongKind("Secret", old)
	}
	return nil
}

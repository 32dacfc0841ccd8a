package api

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const validNode = "apiVersion: davit/v1\nkind: Node\nmetadata:\n  name: node-1\nspec:\n  taints:\n  - {key: dedicated, value: gpu, effect: NoSchedule}\n"

const validSC = "apiVersion: davit/v1\nkind: StorageClass\nmetadata:\n  name: local\n  annotations:\n    storageclass.kubernetes.io/is-default-class: \"true\"\nspec:\n  type: local\n"

const validSettings = "apiVersion: davit/v1\nkind: Settings\nmetadata:\n  name: cluster\nspec:\n  virtualDisks:\n    defaultStorageClassName: local\n    allowedStorageClassNames: [local, nfs]\n"

const validSecret = "apiVersion: davit/v1\nkind: Secret\nmetadata:\n  name: ci\n  namespace: default\ntype: provisioning.virtualization.deckhouse.io/cloud-init\ndata:\n  userData: I2Nsb3VkLWNvbmZpZw==\n"

func TestNodeRules(t *testing.T) {
	runRules(t, validNode, []ruleCase[*Node]{
		{name: "valid"},
		{name: "namespace forbidden", mutate: func(n *Node) { n.Metadata.Namespace = "x" }, want: []string{"metadata.namespace"}},
		{name: "taints", mutate: func(n *Node) {
			n.Spec.Taints = []Taint{{Key: "", Effect: "Sometimes"}, {Key: "a", Value: "b c", Effect: TaintNoExecute}}
		}, want: []string{"spec.taints[0].key", "spec.taints[0].effect", "spec.taints[1].value"}},
	})
	n := decodeOne[*Node](t, validNode)
	assert.Empty(t, n.ValidateUpdate(n))
}

func TestStorageClassDefaultsAndRules(t *testing.T) {
	sc := decodeOne[*StorageClass](t, validSC)
	sc.Default()
	assert.Equal(t, StorageClassSpec{Provisioner: "davit.io/local", Type: "local", ReclaimPolicy: ReclaimDelete,
		VolumeBindingMode: BindingWaitForFirstConsumer, AccessModes: []string{AccessReadWriteOnce},
		VolumeModes: []string{VolumeModeFileSystem}}, sc.Spec)
	assert.True(t, sc.IsDefault())

	sh := decodeOne[*StorageClass](t, strings.Replace(validSC, "type: local", "type: shared\n  path: /mnt/nfs", 1))
	sh.Default()
	assert.Equal(t, BindingImmediate, sh.Spec.VolumeBindingMode)
	assert.Equal(t, []string{AccessReadWriteMany}, sh.Spec.AccessModes)

	runRules(t, validSC, []ruleCase[*StorageClass]{
		{name: "valid"},
		{name: "type", mutate: func(s *StorageClass) { s.Spec.Type = "ceph" }, want: []string{"spec.type"}},
		{name: "enums", mutate: func(s *StorageClass) {
			s.Spec.ReclaimPolicy, s.Spec.VolumeBindingMode, s.Spec.Path = "Recycle", "Later", "relative/dir"
			s.Spec.AccessModes = []string{"ReadOnlyMany", AccessReadWriteMany}
			s.Spec.VolumeModes = []string{"Tape"}
		}, want: []string{"spec.path", "spec.reclaimPolicy", "spec.volumeBindingMode", "spec.accessModes[0]",
			"spec.accessModes[1]", "spec.volumeModes[0]"}},
	})
	old := decodeOne[*StorageClass](t, validSC)
	n := decodeOne[*StorageClass](t, validSC)
	n.Spec.AllowVolumeExpansion = true
	assert.Empty(t, n.ValidateUpdate(old))
	n.Spec.Type, n.Spec.Path = "shared", "/x"
	assert.Equal(t, []string{"spec.type", "spec.path"}, fields(n.ValidateUpdate(old)))
}

func TestSettingsRules(t *testing.T) {
	s := decodeOne[*Settings](t, validSettings)
	s.Default()
	assert.Equal(t, 2, *s.Spec.ImageReplicas)
	assert.Equal(t, "local", s.Spec.VirtualDisks.DefaultClass())
	assert.Equal(t, []string{"local", "nfs"}, s.Spec.VirtualDisks.AllowedNames())
	assert.Equal(t, "", s.Spec.VirtualImages.DefaultClass())

	runRules(t, validSettings, []ruleCase[*Settings]{
		{name: "valid"},
		{name: "singleton name", mutate: func(s *Settings) { s.Metadata.Name = "other" }, want: []string{"metadata.name"}},
		{name: "replicas", mutate: func(s *Settings) { s.Spec.ImageReplicas = ptr(0) }, want: []string{"spec.imageReplicas"}},
		{name: "max bytes", mutate: func(s *Settings) { s.Spec.MaxUnpackedImageBytes = ptr(MustParseQuantity("0")) },
			want: []string{"spec.maxUnpackedImageBytes"}},
		{name: "storage settings", mutate: func(s *Settings) {
			s.Spec.VirtualImages = &StorageClassSettings{DefaultStorageClassName: "a", StorageClassName: "b",
				AllowedStorageClassSelector: &StorageClassSelector{}, AllowedStorageClassNames: []string{"Bad!"}}
		}, want: []string{"spec.virtualImages.storageClassName", "spec.virtualImages.allowedStorageClassSelector.matchNames",
			"spec.virtualImages.allowedStorageClassNames[0]"}},
		{name: "cidrs", mutate: func(s *Settings) {
			s.Spec.VirtualMachineCIDRs = []string{"10.66.0.0/16", "10.66.1.0/24", "nope"}
		}, want: []string{"spec.virtualMachineCIDRs[1]", "spec.virtualMachineCIDRs[2]"}},
		{name: "gates and migration", mutate: func(s *Settings) {
			s.Spec.FeatureGates = []string{"GPU", "Teleport"}
			s.Spec.LiveMigration = &LiveMigrationSettings{Policy: "Always", MaxParallel: -1}
		}, want: []string{"spec.featureGates[1]", "spec.liveMigration.policy", "spec.liveMigration.maxParallel"}},
	})
}

func TestSecretRules(t *testing.T) {
	runRules(t, validSecret, []ruleCase[*Secret]{
		{name: "valid"},
		{name: "base64", mutate: func(s *Secret) { s.Data["userData"] = "***" }, want: []string{"data[userData]"}},
		{name: "keys", mutate: func(s *Secret) { s.Data["a/b"] = "" }, want: []string{"data"}},
		{name: "cloud-init needs userData", mutate: func(s *Secret) { s.Data = map[string]string{"x": ""} },
			want: []string{"data[userData]"}},
		{name: "sysprep", mutate: func(s *Secret) { s.Type = SecretTypeSysprep }, want: []string{"data[autounattend.xml]"}},
		{name: "too big", mutate: func(s *Secret) {
			s.Type, s.Data = SecretTypeOpaque, map[string]string{"big": strings.Repeat("QUFB", 350000)}
		}, want: []string{"data"}},
	})
	s := &Secret{StringData: map[string]string{"userData": "#cloud-config\n"}}
	s.Default()
	assert.Equal(t, SecretTypeOpaque, s.Type)
	assert.Equal(t, map[string]string{"userData": "I2Nsb3VkLWNvbmZpZwo="}, s.Data)
	assert.Nil(t, s.StringData)
	require.Empty(t, s.ValidateUpdate(s))
}

func TestEveryKindHasDefaultsAndRules(t *testing.T) {
	for _, k := range Kinds() {
		r := k.New()
		_, isD := r.(Defaulter)
		_, isV := r.(Validator)
		assert.True(t, isD && isV, k.Kind)
		assert.Equal(t, []string{"kind"}, fields(r.(Validator).ValidateUpdate(&otherKind{})), k.Kind)
	}
}

type otherKind struct{ Node }

func (o *otherKind) GetTypeMeta() *TypeMeta { return &TypeMeta{Kind: "Other"} }

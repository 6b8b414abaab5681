//go:build kubernetes

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/kubernetes"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/miniprom/miniprom/pkg/devcert"
	"github.com/miniprom/miniprom/pkg/server"
	"github.com/miniprom/miniprom/pkg/web"
)

// k8sObjects are deploy/kubernetes's objects, each decoded strictly
// (unknown or duplicate fields fail) into its Kubernetes API type.
type k8sObjects struct {
	namespace    *corev1.Namespace
	account      *corev1.ServiceAccount
	role         *rbacv1.ClusterRole
	binding      *rbacv1.ClusterRoleBinding
	configMap    *corev1.ConfigMap
	secret       *corev1.Secret
	service      *corev1.Service
	statefulSet  *appsv1.StatefulSet
	seenPerKind  map[string]int
	namespaceFor map[string]string // kind/name -> namespace
}

func decodeK8sManifests(t *testing.T) *k8sObjects {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	o := &k8sObjects{seenPerKind: map[string]int{}, namespaceFor: map[string]string{}}
	for _, file := range files {
		f, err := os.Open(file)
		require.NoError(t, err)
		r := utilyaml.NewYAMLReader(bufio.NewReader(f))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, file)
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			var tm metav1.TypeMeta
			require.NoError(t, sigsyaml.Unmarshal(doc, &tm), file)
			var obj any
			var meta *metav1.ObjectMeta
			switch tm.APIVersion + " " + tm.Kind {
			case "v1 Namespace":
				o.namespace = &corev1.Namespace{}
				obj, meta = o.namespace, &o.namespace.ObjectMeta
			case "v1 ServiceAccount":
				o.account = &corev1.ServiceAccount{}
				obj, meta = o.account, &o.account.ObjectMeta
			case "rbac.authorization.k8s.io/v1 ClusterRole":
				o.role = &rbacv1.ClusterRole{}
				obj, meta = o.role, &o.role.ObjectMeta
			case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
				o.binding = &rbacv1.ClusterRoleBinding{}
				obj, meta = o.binding, &o.binding.ObjectMeta
			case "v1 ConfigMap":
				o.configMap = &corev1.ConfigMap{}
				obj, meta = o.configMap, &o.configMap.ObjectMeta
			case "v1 Secret":
				o.secret = &corev1.Secret{}
				obj, meta = o.secret, &o.secret.ObjectMeta
			case "v1 Service":
				o.service = &corev1.Service{}
				obj, meta = o.service, &o.service.ObjectMeta
			case "apps/v1 StatefulSet":
				o.statefulSet = &appsv1.StatefulSet{}
				obj, meta = o.statefulSet, &o.statefulSet.ObjectMeta
			default:
				t.Fatalf("%s: unexpected object %s %s", file, tm.APIVersion, tm.Kind)
			}
			require.NoError(t, sigsyaml.UnmarshalStrict(doc, obj), "%s: %s", file, tm.Kind)
			o.seenPerKind[tm.Kind]++
			o.namespaceFor[tm.Kind+"/"+meta.Name] = meta.Namespace
		}
		f.Close()
	}
	for kind, n := range o.seenPerKind {
		require.Equal(t, 1, n, "one %s", kind)
	}
	require.Len(t, o.seenPerKind, 8, "every object is there: %v", o.seenPerKind)
	return o
}

// TestKubernetesManifests decodes deploy/kubernetes strictly with the
// Kubernetes API types and checks what the files promise: a non-root,
// read-only container without privileges; probes over HTTPS; the TSDB in
// a Memory emptyDir whose sizeLimit the retention size stays below, inside
// the memory limit; a snapshot volume where the snapshot directory is; a
// grace period for writing it; RBAC covering every kubernetes_sd_configs
// role the config uses; and the configs inside accepted by miniprom's
// loader (Kubernetes discovery built in) and by promtool.
//
// The arguments name --storage.memory.snapshot-dir: this test passes once
// that flag is in miniprom.
func TestKubernetesManifests(t *testing.T) {
	o := decodeK8sManifests(t)
	ns := o.namespace.Name
	for obj, got := range o.namespaceFor {
		if !strings.HasPrefix(obj, "Namespace/") && !strings.HasPrefix(obj, "Cluster") {
			require.Equal(t, ns, got, "%s is in namespace %s", obj, ns)
		}
	}

	ss := o.statefulSet
	require.Equal(t, int32(1), *ss.Spec.Replicas)
	pod := ss.Spec.Template.Spec
	require.Equal(t, ss.Spec.Selector.MatchLabels, ss.Spec.Template.Labels)
	require.Equal(t, ss.Spec.Selector.MatchLabels, o.service.Spec.Selector)
	require.Equal(t, o.service.Name, ss.Spec.ServiceName)
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]

	t.Run("security context", func(t *testing.T) {
		psc := pod.SecurityContext
		require.True(t, *psc.RunAsNonRoot)
		require.Equal(t, int64(65534), *psc.RunAsUser, "the image's user")
		require.NotNil(t, psc.FSGroup, "mounted volumes are the user's group's")
		require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
		sc := c.SecurityContext
		require.False(t, *sc.AllowPrivilegeEscalation)
		require.True(t, *sc.ReadOnlyRootFilesystem)
		require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		require.Empty(t, sc.Capabilities.Add)
		require.Nil(t, sc.Privileged)
	})

	t.Run("probes", func(t *testing.T) {
		require.Len(t, c.Ports, 1)
		port := c.Ports[0]
		require.Equal(t, int32(9090), port.ContainerPort)
		require.Equal(t, port.Name, o.service.Spec.Ports[0].TargetPort.String())
		for path, p := range map[string]*corev1.Probe{"/-/ready": c.ReadinessProbe, "/-/healthy": c.LivenessProbe} {
			require.NotNil(t, p, path)
			require.Equal(t, path, p.HTTPGet.Path)
			require.Equal(t, corev1.URISchemeHTTPS, p.HTTPGet.Scheme)
			require.Equal(t, port.Name, p.HTTPGet.Port.String())
		}
	})

	flags := flagValues(t, c.Args)
	require.Empty(t, c.Command, "the image's entrypoint")
	parsesAsMiniprom(t, c.Args)
	mounts := map[string]corev1.VolumeMount{} // by mount path
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}

	t.Run("memory", func(t *testing.T) {
		m, ok := mounts[flags["storage.memory.dir"]]
		require.True(t, ok, "--storage.memory.dir is a mounted volume")
		ed := volumes[m.Name].EmptyDir
		require.NotNil(t, ed, "an emptyDir")
		require.Equal(t, corev1.StorageMediumMemory, ed.Medium)
		require.NotNil(t, ed.SizeLimit)
		retention := bytesFlag(t, flags["storage.tsdb.retention.size"])
		require.LessOrEqual(t, float64(retention), maxRetentionShare*float64(ed.SizeLimit.Value()),
			"--storage.tsdb.retention.size leaves the emptyDir room for compaction")
		limit := c.Resources.Limits[corev1.ResourceMemory]
		require.Greater(t, limit.Value(), ed.SizeLimit.Value(), "the memory limit covers the emptyDir's files and the heap")
		request := c.Resources.Requests[corev1.ResourceMemory]
		require.Zero(t, limit.Cmp(request), "memory is requested as limited: the node keeps room for it")
	})

	t.Run("snapshot", func(t *testing.T) {
		m, ok := mounts[flags["storage.memory.snapshot-dir"]]
		require.True(t, ok, "--storage.memory.snapshot-dir is a mounted volume")
		require.False(t, m.ReadOnly)
		_, inPod := volumes[m.Name]
		require.False(t, inPod, "the snapshot volume is the pod's claim, not a pod volume")
		require.Len(t, ss.Spec.VolumeClaimTemplates, 1)
		claim := ss.Spec.VolumeClaimTemplates[0]
		require.Equal(t, m.Name, claim.Name)
		require.Equal(t, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, claim.Spec.AccessModes)
		ram := volumes[mounts[flags["storage.memory.dir"]].Name].EmptyDir.SizeLimit
		require.GreaterOrEqual(t, claim.Spec.Resources.Requests.Storage().Value(), ram.Value(),
			"the snapshot volume holds what the RAM directory can")
		need := snapshotTime(bytesFlag(t, flags["storage.tsdb.retention.size"]))
		require.GreaterOrEqual(t, time.Duration(*pod.TerminationGracePeriodSeconds)*time.Second, need,
			"the grace period leaves time to write a snapshot of the retention size (Kubernetes's default is 30s)")
	})

	t.Run("rbac", func(t *testing.T) {
		require.Equal(t, o.account.Name, pod.ServiceAccountName)
		require.Equal(t, "ClusterRole", o.binding.RoleRef.Kind)
		require.Equal(t, o.role.Name, o.binding.RoleRef.Name)
		require.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: o.account.Name, Namespace: ns}}, o.binding.Subjects)
		for _, r := range o.role.Rules {
			require.Subset(t, []string{"get", "list", "watch"}, r.Verbs, "read only")
		}
	})

	// The configs, laid out as the pod sees them under root.
	root := t.TempDir()
	cfgMount, ok := mounts[filepath.Dir(flags["config.file"])]
	require.True(t, ok, "--config.file is in a mounted volume")
	require.True(t, cfgMount.ReadOnly)
	require.Equal(t, o.configMap.Name, volumes[cfgMount.Name].ConfigMap.Name)
	require.Equal(t, filepath.Dir(flags["config.file"]), filepath.Dir(flags["web.config.file"]))
	for name, data := range o.configMap.Data {
		require.NoError(t, os.MkdirAll(filepath.Join(root, cfgMount.MountPath), 0o755))
		write(t, filepath.Join(root, cfgMount.MountPath), name, data)
	}
	var secretMount corev1.VolumeMount
	for _, m := range c.VolumeMounts {
		if v := volumes[m.Name]; v.Secret != nil {
			require.Equal(t, o.secret.Name, v.Secret.SecretName)
			secretMount = m
		}
	}
	require.True(t, secretMount.ReadOnly)
	require.Equal(t, corev1.SecretTypeTLS, o.secret.Type)
	// The placeholder's keys are the ones a real Secret has; the test
	// writes development certificates under them.
	certs := t.TempDir()
	_, err := devcert.WriteDevSet(certs, []string{"localhost"})
	require.NoError(t, err)
	dir := filepath.Join(root, secretMount.MountPath)
	for key, from := range map[string]string{"tls.crt": "server.crt", "tls.key": "server.key", "ca.crt": "ca.crt"} {
		require.Contains(t, o.secret.StringData, key)
		require.Contains(t, o.secret.StringData[key], "placeholder")
		copyFile(t, filepath.Join(certs, from), filepath.Join(dir, key))
	}
	require.Len(t, o.secret.StringData, 3)

	t.Run("configs", func(t *testing.T) {
		cfg := filepath.Join(root, flags["config.file"])
		require.NoError(t, server.CheckConfig(cfg, server.Features{}, promslog.NewNopLogger()))
		require.NoError(t, web.ValidateWebConfig(filepath.Join(root, flags["web.config.file"])))
		out, err := exec.Command(promtool(t), "check", "config", cfg).CombinedOutput()
		require.NoError(t, err, "promtool check config:\n%s", out)

		// Every role kubernetes_sd_configs uses is granted list and watch.
		c, err := config.LoadFile(cfg, false, promslog.NewNopLogger())
		require.NoError(t, err)
		var roles []kubernetes.Role
		for _, sc := range c.ScrapeConfigs {
			for _, d := range sc.ServiceDiscoveryConfigs {
				if k, ok := d.(*kubernetes.SDConfig); ok {
					roles = append(roles, k.Role)
				}
			}
		}
		require.NotEmpty(t, roles)
		for _, role := range roles {
			for _, res := range roleResources[role] {
				require.True(t, grants(o.role, res[0], res[1], "list") && grants(o.role, res[0], res[1], "watch"),
					"role %s needs list and watch on %s/%s", role, res[0], res[1])
			}
		}
	})
}

// roleResources are the API group and resource each kubernetes_sd_configs
// role watches (upstream's discovery/kubernetes/kubernetes.go).
var roleResources = map[kubernetes.Role][][2]string{
	kubernetes.RolePod:           {{"", "pods"}},
	kubernetes.RoleService:       {{"", "services"}},
	kubernetes.RoleEndpoint:      {{"", "endpoints"}, {"", "services"}, {"", "pods"}},
	kubernetes.RoleEndpointSlice: {{"discovery.k8s.io", "endpointslices"}, {"", "services"}, {"", "pods"}},
	kubernetes.RoleNode:          {{"", "nodes"}},
	kubernetes.RoleIngress:       {{"networking.k8s.io", "ingresses"}},
}

func grants(r *rbacv1.ClusterRole, group, resource, verb string) bool {
	for _, rule := range r.Rules {
		if slices.Contains(rule.APIGroups, group) && slices.Contains(rule.Resources, resource) && slices.Contains(rule.Verbs, verb) {
			return true
		}
	}
	return false
}

// Command skiff-hostpath-provisioner is the test cluster's storage: a dynamic provisioner for one node that
// answers every pending PersistentVolumeClaim of a StorageClass naming it with a hostPath PersistentVolume
// in a fresh directory under --root, and removes that directory and the volume once the claim is deleted
// (reclaim policy Delete). The in-tree hostPath provisioner of kube-controller-manager would do the same
// but creates its directories 0750 and owned by root under /tmp, which a container running as another user
// cannot write to; these are 0777, like an emptyDir.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// provisionedBy is the annotation the PersistentVolume controller reads to leave a released volume's
// deletion to the provisioner that made it.
const provisionedBy = "pv.kubernetes.io/provisioned-by"

// resync re-examines every claim and volume this often, so a failed create or delete is retried even when
// no further event arrives for it.
const resync = 30 * time.Second

type provisioner struct {
	name   string
	root   string
	client kubernetes.Interface
	claims cache.Indexer
	vols   cache.Indexer
	class  cache.Indexer
	queue  workqueue.TypedRateLimitingInterface[string]
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of a user allowed to manage PersistentVolumes")
	root := flag.String("root", "", "directory under which each volume gets its own directory")
	name := flag.String("name", "skiff.local/hostpath", "provisioner name that StorageClasses refer to")
	flag.Parse()
	if *kubeconfig == "" || *root == "" {
		fmt.Fprintln(os.Stderr, "usage: skiff-hostpath-provisioner --kubeconfig FILE --root DIR [--name NAME]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*root, 0o755); err != nil {
		klog.Fatalf("create volume root: %v", err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("read kubeconfig: %v", err)
	}
	client := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, resync)
	claimInf := factory.Core().V1().PersistentVolumeClaims().Informer()
	volInf := factory.Core().V1().PersistentVolumes().Informer()
	classInf := factory.Storage().V1().StorageClasses().Informer()
	p := &provisioner{
		name: *name, root: *root, client: client,
		claims: claimInf.GetIndexer(), vols: volInf.GetIndexer(), class: classInf.GetIndexer(),
		queue: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	// Keys are "claim/<ns>/<name>" or "volume/<name>": one queue, one worker, so a claim and its volume are
	// never handled concurrently.
	enqueue := func(kind string) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
				p.queue.Add(kind + "/" + key)
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, o any) { add(o) }}
	}
	if _, err := claimInf.AddEventHandler(enqueue("claim")); err != nil {
		klog.Fatal(err)
	}
	if _, err := volInf.AddEventHandler(enqueue("volume")); err != nil {
		klog.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	klog.Infof("provisioning %s volumes under %s", p.name, p.root)
	go func() { <-ctx.Done(); p.queue.ShutDown() }()
	for p.next(ctx) {
	}
}

func (p *provisioner) next(ctx context.Context) bool {
	key, quit := p.queue.Get()
	if quit {
		return false
	}
	defer p.queue.Done(key)
	var err error
	if rest, ok := cut(key, "claim/"); ok {
		err = p.syncClaim(ctx, rest)
	} else if rest, ok := cut(key, "volume/"); ok {
		err = p.syncVolume(ctx, rest)
	}
	if err != nil {
		klog.Errorf("%s: %v (retrying)", key, err)
		p.queue.AddRateLimited(key)
		return true
	}
	p.queue.Forget(key)
	return true
}

func cut(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return "", false
}

// syncClaim creates the volume for a pending claim of one of our classes, already bound to it by claimRef,
// so the PersistentVolume controller only has to complete the binding.
func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	obj, exists, err := p.claims.GetByKey(key)
	if err != nil || !exists {
		return err
	}
	claim := obj.(*v1.PersistentVolumeClaim)
	if claim.Spec.VolumeName != "" || claim.Status.Phase != v1.ClaimPending || claim.DeletionTimestamp != nil {
		return nil
	}
	if claim.Spec.StorageClassName == nil {
		return nil // the DefaultStorageClass admission fills it in; nothing to do for a class-less claim
	}
	classObj, exists, err := p.class.GetByKey(*claim.Spec.StorageClassName)
	if err != nil || !exists {
		return err
	}
	class := classObj.(*storagev1.StorageClass)
	if class.Provisioner != p.name {
		return nil
	}
	if claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == v1.PersistentVolumeBlock {
		return fmt.Errorf("block volumes are not supported; only Filesystem")
	}
	pvName := "pvc-" + string(claim.UID)
	if _, exists, _ := p.vols.GetByKey(pvName); exists {
		return nil
	}
	dir := filepath.Join(p.root, pvName)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777); err != nil { // MkdirAll's mode is cut by the umask
		return err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	hostPathType := v1.HostPathDirectory
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: pvName, Annotations: map[string]string{provisionedBy: p.name}},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: claim.Spec.Resources.Requests[v1.ResourceStorage]},
			AccessModes:                   claim.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			PersistentVolumeSource: v1.PersistentVolumeSource{
				HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &hostPathType},
			},
			ClaimRef: &v1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID,
			},
		},
	}
	if len(pv.Spec.AccessModes) == 0 {
		pv.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	_, err = p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err == nil {
		klog.Infof("provisioned %s for claim %s at %s", pvName, key, dir)
	}
	return err
}

// syncVolume deletes a released volume of ours whose policy is Delete, directory first, so a failure to
// remove the directory leaves the volume visible rather than an orphaned directory.
func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	obj, exists, err := p.vols.GetByKey(name)
	if err != nil || !exists {
		return err
	}
	pv := obj.(*v1.PersistentVolume)
	if pv.Annotations[provisionedBy] != p.name || pv.DeletionTimestamp != nil {
		return nil
	}
	if pv.Status.Phase != v1.VolumeReleased || pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete {
		return nil
	}
	if pv.Spec.HostPath == nil || filepath.Dir(pv.Spec.HostPath.Path) != p.root {
		return fmt.Errorf("volume %s does not point at a directory under %s; leaving it", name, p.root)
	}
	if err := os.RemoveAll(pv.Spec.HostPath.Path); err != nil {
		return err
	}
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil {
		klog.Infof("deleted released volume %s and %s", name, pv.Spec.HostPath.Path)
	}
	return err
}

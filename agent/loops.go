package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"davit/api"
	"davit/raftstore"
)

// startLoops starts the agent's background work; a.wg owns every goroutine
// and shutdown waits for them after cancelling ctx.
func (a *Agent) startLoops(ctx context.Context) {
	a.wg.Add(3)
	go func() { defer a.wg.Done(); a.catchUp(ctx) }()
	go func() { defer a.wg.Done(); a.nodeLoop(ctx) }()
	go func() { defer a.wg.Done(); a.leaderLoop(ctx) }()
	a.startImages(ctx)
	a.startDisks(ctx)
	a.startVMs(ctx)
	a.startVMOPs(ctx)
}

// catchUp waits until the local state has applied every write committed
// before this agent started (a read-index round through the leader), then
// marks the agent ready. Until then /readyz answers 503, so nobody reads
// a state that is still replaying its log after a restart.
func (a *Agent) catchUp(ctx context.Context) {
	for ctx.Err() == nil {
		if err := a.consistentRead(ctx); err == nil {
			a.caughtUp.Store(true)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// nodeLoop heartbeats the leader every second and keeps this agent's Node
// object current.
func (a *Agent) nodeLoop(ctx context.Context) {
	facts, err := readHostFacts()
	if err != nil {
		a.log.Error("read host facts", "err", err)
	}
	if facts.Accelerator == "tcg" {
		a.log.Warn("no hardware virtualization: VMs will run under TCG", "reason", facts.AccelReason)
	}
	var labels map[string]string
	if cpu, err := a.loadCPUFacts(ctx, facts.Accelerator); err != nil {
		a.log.Warn("no CPU facts: the node publishes no CPU labels", "err", err)
	} else {
		labels = cpuLabels(cpu)
		a.cpuFacts.Store(&cpu)
		a.log.Info("CPU facts", "vendor", cpu.Vendor, "models", len(cpu.UsableModels), "hostModel", cpu.HostModel)
	}
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	var synced time.Time
	for {
		a.sendHeartbeat(ctx)
		if time.Since(synced) > 10*time.Second {
			err := a.syncOwnNode(ctx, facts)
			if err == nil && labels != nil {
				err = a.syncOwnLabels(ctx, labels)
			}
			if err != nil {
				a.log.Debug("sync node object", "err", err)
			} else {
				synced = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// leaderLoop does the leader's cluster work while this agent leads:
// bootstrapping a new cluster's objects and node Ready conditions.
func (a *Agent) leaderLoop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	leading, bootstrapped := false, false
	var lastConds time.Time
	pilot := a.newAutopilot()
	stopPilot := func() {
		if leading {
			<-pilot.Stop()
		}
	}
	defer stopPilot()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !a.store.IsLeader() {
			stopPilot()
			leading = false
			continue
		}
		if !leading {
			leading, bootstrapped = true, false
			a.beats.reset(time.Now())
			pilot.Start(ctx)
			a.log.Info("became leader", "node", a.cfg.NodeName)
		}
		if !bootstrapped {
			if err := a.bootstrapObjects(ctx); err != nil {
				a.log.Warn("bootstrap cluster objects", "err", err)
			} else {
				bootstrapped = true
			}
		}
		if time.Since(lastConds) >= time.Second {
			a.updateNodeConditions(ctx)
			a.syncClassStatuses(ctx)
			a.syncVMClassConditions(ctx)
			lastConds = time.Now()
		}
	}
}

// settingsName is the name of the cluster's singleton Settings object.
const settingsName = "cluster"

// bootstrapObjects creates a new cluster's predefined objects once: the
// classes host, host-passthrough and generic, the default storage class
// and the Settings object. Settings existing means it was done: a deleted
// `generic` is not recreated (reference §5).
func (a *Agent) bootstrapObjects(ctx context.Context) error {
	if _, err := a.store.Get("Settings", "", settingsName); err == nil {
		return nil
	}
	var objs []*api.Object
	for _, c := range api.PredefinedClasses() {
		o, err := api.ToObject(c)
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	for _, r := range []api.Resource{defaultStorageClass(), defaultSettings()} {
		o, err := api.ToObject(r)
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	for _, o := range objs {
		res, err := a.apply(ctx, raftstore.CreateCommand(o.Kind, o))
		if err != nil {
			return err
		}
		if res.Err != nil && !isAlreadyExists(res.Err) {
			return res.Err
		}
	}
	a.log.Info("bootstrapped cluster objects", "count", len(objs))
	return nil
}

func defaultStorageClass() *api.StorageClass {
	sc := &api.StorageClass{}
	raw := `{"apiVersion":"davit/v1","kind":"StorageClass","metadata":{"name":"local",
	  "annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
	  "spec":{"provisioner":"davit.io/local","type":"local","reclaimPolicy":"Delete",
	  "volumeBindingMode":"WaitForFirstConsumer","allowVolumeExpansion":true,
	  "accessModes":["ReadWriteOnce"],"volumeModes":["FileSystem"]}}`
	if err := json.Unmarshal([]byte(raw), sc); err != nil {
		panic("agent: built-in storage class does not decode: " + err.Error())
	}
	return sc
}

func defaultSettings() *api.Settings {
	s := &api.Settings{}
	raw := `{"apiVersion":"davit/v1","kind":"Settings","metadata":{"name":"cluster"},"spec":{"imageReplicas":2}}`
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		panic("agent: built-in settings do not decode: " + err.Error())
	}
	return s
}

func isNotFound(err error) bool      { return errors.Is(err, raftstore.ErrNotFound) }
func isAlreadyExists(err error) bool { return errors.Is(err, raftstore.ErrAlreadyExists) }

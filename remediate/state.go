package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// StateStore remembers, across passes and restarts, since when each
// finalizer's controller has been seen absent: the clock of
// --controller-gone-after must not start again when the remediator
// restarts or its leadership moves. It keeps one ConfigMap in nsguard's
// own namespace (a key per stuck namespace), so that remediation writes
// nothing to anyone else's objects until it acts. Only the leader writes,
// so after a namespace's first read its state is served from memory.
type StateStore struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string

	mu  sync.Mutex
	mem map[string]absentSince
}

// absentSince maps a candidate's key to the time its controller was first
// seen absent, on the API server's clock.
type absentSince map[string]time.Time

// Load returns the state of one namespace.
func (s *StateStore) Load(ctx context.Context, ns string) (absentSince, error) {
	s.mu.Lock()
	if st, ok := s.mem[ns]; ok {
		s.mu.Unlock()
		return copyState(st), nil
	}
	s.mu.Unlock()
	st, err := s.read(ctx, ns)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.mem == nil {
		s.mem = map[string]absentSince{}
	}
	s.mem[ns] = st
	s.mu.Unlock()
	return copyState(st), nil
}

func copyState(st absentSince) absentSince {
	out := make(absentSince, len(st))
	for k, v := range st {
		out[k] = v
	}
	return out
}

func (s *StateStore) read(ctx context.Context, ns string) (absentSince, error) {
	cm, err := s.Client.CoreV1().ConfigMaps(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return absentSince{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read remediation state %s/%s: %w", s.Namespace, s.Name, err)
	}
	out := absentSince{}
	if raw := cm.Data[ns]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			// A damaged entry restarts the clock: it only ever delays.
			return absentSince{}, nil
		}
	}
	return out, nil
}

// Save replaces the state of one namespace (none when st is empty).
func (s *StateStore) Save(ctx context.Context, ns string, st absentSince) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem == nil {
		s.mem = map[string]absentSince{}
	}
	if cur, ok := s.mem[ns]; ok && sameState(cur, st) {
		return nil
	}
	if err := s.write(ctx, ns, st); err != nil {
		delete(s.mem, ns) // read it again next time
		return err
	}
	if len(st) == 0 {
		delete(s.mem, ns)
	} else {
		s.mem[ns] = copyState(st)
	}
	return nil
}

func (s *StateStore) write(ctx context.Context, ns string, st absentSince) error {
	cms := s.Client.CoreV1().ConfigMaps(s.Namespace)
	for attempt := 0; attempt < 5; attempt++ {
		cm, err := cms.Get(ctx, s.Name, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if err != nil && !create {
			return fmt.Errorf("read remediation state %s/%s: %w", s.Namespace, s.Name, err)
		}
		if create {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace,
				Labels: map[string]string{"app.kubernetes.io/name": "nsguard", "app.kubernetes.io/component": "remediator"}}}
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if len(st) == 0 {
			if _, ok := cm.Data[ns]; !ok {
				return nil
			}
			delete(cm.Data, ns)
		} else {
			b, err := json.Marshal(st)
			if err != nil {
				return fmt.Errorf("encode remediation state: %w", err)
			}
			cm.Data[ns] = string(b)
		}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("write remediation state %s/%s: %w", s.Namespace, s.Name, err)
		}
		return nil
	}
	return fmt.Errorf("write remediation state %s/%s: conflicts kept coming", s.Namespace, s.Name)
}

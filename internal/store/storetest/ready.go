package storetest

import "testing"

var readyTests = []test{
	{"NotReadyBeforeMigrate", func(t *testing.T, s *suite) {
		st := s.newStore(t)
		if err := st.Ready(ctx(t)); err == nil {
			t.Errorf("Ready on an empty database = nil, want an error that says it is not migrated")
		}
	}},
	{"ReadyAfterMigrate", func(t *testing.T, s *suite) {
		st := s.open(t)
		if err := st.Ready(ctx(t)); err != nil {
			t.Errorf("Ready after Migrate = %v", err)
		}
	}},
}

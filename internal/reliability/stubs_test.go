package reliability

import "testing"

func secretSuite(t *testing.T, rec *recorder) {}

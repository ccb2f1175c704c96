// The AWS auth method as an OpenBao plugin, for the integration tests only: OpenBao ships
// without it (it left the builtins), so the tests build Vault's own `builtin/credential/aws`
// (v1.14, MPL-2.0) behind the plugin protocol OpenBao still speaks. scripts/install-test-services.sh
// builds it once into the test cache; nothing of it is deployed.
package main

import (
	"os"

	hclog "github.com/hashicorp/go-hclog"
	awsauth "github.com/hashicorp/vault/builtin/credential/aws"
	"github.com/hashicorp/vault/sdk/plugin"
)

func main() {
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{BackendFactoryFunc: awsauth.Factory}); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
		os.Exit(1)
	}
}

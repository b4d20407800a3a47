package endpoint

import (
	"os"

	"github.com/spf13/pflag"
)

// Register adds the credential and TLS flags to fs, each name starting with
// prefix ("" for serve, "metrics-" for watch's metrics endpoint). tokenEnv
// names the environment variable read for the token when no file is given.
func (o *Options) Register(fs *pflag.FlagSet, prefix, tokenEnv string) {
	o.FlagPrefix, o.TokenEnv = prefix, tokenEnv
	fs.StringVar(&o.TokenFile, prefix+"token-file", "", "bearer token `FILE` required off loopback (or set $"+tokenEnv+")")
	fs.StringVar(&o.TLSCert, prefix+"tls-cert", "", "serve HTTPS with this PEM certificate `FILE`")
	fs.StringVar(&o.TLSKey, prefix+"tls-key", "", "PEM private key `FILE` for --"+prefix+"tls-cert")
	fs.StringVar(&o.ClientCA, prefix+"client-ca", "", "require client certificates signed by this PEM CA `FILE`")
	fs.BoolVar(&o.InsecureNoTLS, prefix+"insecure-no-tls", false, "serve plain HTTP off loopback (a TLS proxy is in front)")
}

// FromEnv fills Token from the environment variable Register named, when
// no token file is given.
func (o *Options) FromEnv() {
	if o.TokenFile == "" && o.Token == "" && o.TokenEnv != "" {
		o.Token = os.Getenv(o.TokenEnv)
	}
}

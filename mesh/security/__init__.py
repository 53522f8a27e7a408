"""Zero trust: mesh TLS, who is calling (SPIFFE ids), the authorization policy and its
interceptor."""

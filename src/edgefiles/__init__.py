"""edgefiles: a file service on Cloudflare Python Workers."""

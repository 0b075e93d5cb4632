"""Platform adapters: each turns a platform's events into core requests and renders core replies."""

"""Where frames go: one sink a module, all behind `vizcallbacks.sinks.base.Sink`."""

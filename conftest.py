pytest_plugins = ["rootguard.plugin"]

[quloud_web]
title="Quloud settings page (HTTP)"
desc="Quloud"
port_forward="no"
dst.ports="30480/tcp"

[quloud_peer]
title="Quloud peers (HTTPS)"
desc="Quloud"
port_forward="yes"
dst.ports="30481/tcp"

[quloud_ssdp]
title="Quloud LAN discovery (SSDP)"
desc="Quloud"
port_forward="no"
dst.ports="1900/udp"

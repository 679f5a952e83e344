// Readiness: GET /status from inside the pod (a kubelet httpGet probe would be refused with 403:
// it sends the pod IP as Host, which `bw serve` does not accept). Ready only when unlocked.
fetch("http://127.0.0.1:8087/status")
  .then((r) => r.json())
  .then((b) => process.exit(b.success && b.data.template.status === "unlocked" ? 0 : 1))
  .catch(() => process.exit(1));

package trivy

import rego.v1

default ignore := false

accepted := {"CVE-2023-44487", "CVE-2024-24790"}

ignore if input.VulnerabilityID in accepted

ignore if {
	input.PkgName == "openssl"
	input.Severity == "LOW"
}

# A conftest-style policy in package main: evaluated only when the
# configuration asks for namespace main, and then it blocks.
package main

import rego.v1

deny contains "package main was evaluated" if {
	count(input.checks) > 0
}

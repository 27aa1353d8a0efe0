"""mlstack's CrossGuard policy pack: `pulumi preview --policy-pack policies`.

Only builds the pack: every rule is defined in mlstack.policy and is the very object
`mlstack check` evaluates offline. PolicyPack() serves the Pulumi CLI and blocks.
"""

from pulumi_policy import PolicyPack

from mlstack.policy import pack_arguments

PolicyPack(**pack_arguments())

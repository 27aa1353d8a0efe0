"""The team stacks' Pulumi program: `pulumi up --stack churn-prod` and `mlstack plan churn-prod` run this."""

from mlstack.program import main

main()

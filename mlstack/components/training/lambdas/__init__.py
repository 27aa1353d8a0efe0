"""Source of the small AWS Lambda functions mlstack's components deploy (shipped as their code)."""

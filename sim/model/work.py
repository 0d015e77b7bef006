"""What the business asks for: the kinds of work item and where an item comes from (the
codes the kernel's item rows and the item table use)."""

FEATURE, INCIDENT, KTLO = 0, 1, 2
KIND_NAMES = ("feature", "incident", "ktlo")
FROM_DEMAND, FROM_ESCAPED_DEFECT = 0, 1

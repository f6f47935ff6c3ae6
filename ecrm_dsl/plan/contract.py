"""The name and version of the plan format: what a plan says it is, and what this ecrm-dsl reads.

Bump ``PLAN_VERSION`` only when the meaning or shape of a plan changes in a way an older runtime would misread;
stored plans of another version are refused with a request to redeploy.
"""

PLAN_FORMAT = "ecrm-plan"
PLAN_VERSION = 1

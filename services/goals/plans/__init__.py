"""Account plans (客户经营计划): one per account per year, versioned, approved by the supervisor."""

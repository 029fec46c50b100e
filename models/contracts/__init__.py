"""Service contracts: customer, period, phases, catalogue, CIs and team (`tables`, `service`), and which
contracts a person sees (`scope`, the base of tenancy)."""

"""Calendars and SLA clocks: business time (5x8, 7x24) on the statutory calendar the team keeps, SLA policy
sets (`policies`), and the clock rules that judge a measure met, missed or running (`sla_clock`)."""

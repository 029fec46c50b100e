"""Emergency response's records: incidents, their timeline and pauses (`tables`), grading (`grading`), SLA
clocks per incident (`clocks`), intake and services (`service`), the alert inbox, dispatch claims, bulk
import (`importer`) and stored reports (`documents`)."""

"""People and who they are: organisations, people, ITSS roles, API tokens, phone sign-in links, on-call
rosters (`people`, `roles`, `tokens`, `signin`), their services (`service`) and the reference data every
installation has (`reference`)."""

"""Account teams: who supervises whom, and the code group robots of a team are bound to."""

"""SLA: business calendars (working hours, holidays, China's statutory holidays and 调休 days) and
deadline math; policies, clocks on tickets and the timer sweep build on it."""

"""The business calendar (工作日历): working hours, public holidays and make-up workdays (调休) per calendar."""

"""The task force (专项小组): departments' tasks on a complaint, with assignee and due date."""

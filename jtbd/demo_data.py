"""Demo study: a team lead getting a newly purchased software tool adopted by the team.

Pure constants, used to seed a demo workspace. Every outcome passes
`jtbd.statements.check_statement` with no findings, and no two outcomes are near-duplicates
of each other; tests/jtbd/test_statements.py holds the data to that.
"""

from __future__ import annotations

from typing import Any, TypedDict


class DemoJob(TypedDict):
    """The demo job's fields, as `jtbd.services.create_job` takes them."""

    statement: str
    executor: str
    kind: str
    notes: str


DEMO_JOB: DemoJob = {
    "statement": "Get a newly purchased software tool adopted across my team",
    "executor": "Team lead",
    "kind": "core_functional",
    "notes": (
        "Demo study: the tool is already bought; success means the team does its daily work "
        "in it and the old way of working is retired."
    ),
}

DEMO_STEPS: list[dict[str, Any]] = [
    {
        "stage": "define",
        "title": "Define adoption goals",
        "description": "Decide what successful adoption of the tool means for this team.",
        "outcomes": [
            "Minimize the time it takes to agree on what successful adoption looks like for "
            "the team",
            "Minimize the likelihood that adoption goals conflict with the team's existing "
            "priorities",
            "Minimize the time it takes to decide which work will move to the tool first",
            "Minimize the likelihood of setting an adoption target the team cannot "
            "realistically reach",
            "Minimize the time it takes to determine which team members need to use the tool",
            "Minimize the likelihood that leadership expects results earlier than the team can "
            "deliver them",
        ],
    },
    {
        "stage": "locate",
        "title": "Gather what the rollout needs",
        "description": "Find the licences, people, material and answers the rollout depends on.",
        "outcomes": [
            "Minimize the time it takes to obtain enough licences for everyone who needs the tool",
            "Minimize the time it takes to find a team member willing to champion the tool",
            "Minimize the time it takes to locate training material that fits the team's way "
            "of working",
            "Minimize the time it takes to identify the existing work that must be moved into "
            "the tool",
            "Minimize the likelihood of overlooking a stakeholder whose approval the rollout "
            "requires",
            "Minimize the time it takes to get answers from the vendor about setup questions",
        ],
    },
    {
        "stage": "prepare",
        "title": "Prepare the rollout",
        "description": "Set the tool up and get the team ready to start using it.",
        "outcomes": [
            "Minimize the time it takes to set up an account for every team member",
            "Minimize the likelihood that team members are given the wrong access permissions",
            "Minimize the effort it takes to move existing work into the tool",
            "Minimize the likelihood that information is lost while moving it from the old tool",
            "Minimize the time it takes to configure the tool to match the team's processes",
            "Minimize the time it takes to draw up a rollout plan the whole team can follow",
        ],
    },
    {
        "stage": "confirm",
        "title": "Confirm readiness to launch",
        "description": "Check that the tool, the data and the people are ready before go-live.",
        "outcomes": [
            "Minimize the likelihood of launching before the tool is configured correctly",
            "Minimize the time it takes to verify that every team member can access the tool",
            "Minimize the likelihood that migrated work contains errors nobody has noticed",
            "Minimize the time it takes to confirm that the team knows where to get help",
            "Minimize the likelihood that the launch date clashes with a busy period for the team",
            "Minimize the time it takes to get sign-off from stakeholders to go live",
        ],
    },
    {
        "stage": "execute",
        "title": "Roll the tool out to the team",
        "description": "Switch the team's daily work over to the tool.",
        "outcomes": [
            "Minimize the time it takes to introduce the tool to the whole team",
            "Minimize the time it takes for a new user to complete a first real task in the tool",
            "Minimize the number of questions team members must ask before they can start working",
            "Minimize the number of tasks team members still do outside the tool",
            "Minimize the time it takes to answer a team member's question about the tool",
            "Minimize the likelihood that urgent work is delayed by the switch to the tool",
        ],
    },
    {
        "stage": "monitor",
        "title": "Monitor adoption",
        "description": "Watch whether the team is really working in the tool.",
        "outcomes": [
            "Minimize the time it takes to identify which team members have not yet started "
            "using the tool",
            "Minimize the time it takes to see how much of the team's work is happening in "
            "the tool",
            "Minimize the likelihood of missing early signs that a team member is struggling "
            "with the tool",
            "Minimize the time it takes to find out why a team member has stopped using the tool",
            "Minimize the likelihood that usage figures give a misleading picture of real adoption",
            "Minimize the time it takes to collect feedback from the team about the tool",
        ],
    },
    {
        "stage": "modify",
        "title": "Adjust the rollout",
        "description": "Fix what is holding adoption back.",
        "outcomes": [
            "Minimize the time it takes to decide which adoption problems to tackle first",
            "Minimize the time it takes to give extra coaching to team members who are "
            "falling behind",
            "Minimize the likelihood that a configuration change disrupts work already in progress",
            "Minimize the time it takes to adapt the tool's setup to how the team works",
            "Minimize the likelihood that team members revert to the old way of working",
            "Minimize the time it takes to get the vendor to resolve a problem blocking the team",
        ],
    },
    {
        "stage": "conclude",
        "title": "Close out the rollout",
        "description": "Retire the old way of working and hand the tool over to business as usual.",
        "outcomes": [
            "Minimize the time it takes to retire the old tool",
            "Minimize the likelihood that anyone still depends on the old tool once it is retired",
            "Minimize the time it takes to show leadership the results of the rollout",
            "Minimize the likelihood of paying for licences nobody is using",
            "Minimize the time it takes to record lessons learned for the next rollout",
            "Minimize the time it takes to hand ongoing ownership of the tool to a named "
            "administrator",
        ],
    },
]

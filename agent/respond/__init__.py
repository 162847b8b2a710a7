"""The incident-response graph's decisions, as planners, and its typed state.

    service.py   which service a request is about
    incident.py  which incident an update is about
    update.py    the write an incident update needs
    page.py      who is on call, duplicates, and the page (or note) to send
    roster.py    who covers whom: the override plan and its write
    people.py    who the words mean
    questions.py the candidates a question offers and checking the answer
    describe.py  the report in words
    state.py     the models the graph's state is made of

Each planner returns its result, a `Question` or a `Refusal`; the graph
(graphs/incident_response.py) maps that to its next step.
"""

"""/people, /roles, /organisations: the directory (admins manage it; everyone may read it)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlmodel import Session, col, select

from api.deps import AdminCaller, CurrentCaller, SessionDep, load_visible
from models.core.audit import record_audit
from models.core.rows import stored_id
from models.core.types import Id
from models.directory.people import (
    Organisation,
    OrganisationCreate,
    OrganisationPublic,
    Person,
    PersonCreate,
    PersonPublic,
    PersonUpdate,
    Role,
)
from models.directory.service import DuplicateError, active_admin_count, create_person, roles_of, set_roles
from models.tenancy import visible

router = APIRouter(tags=["people"])


def public(session: Session, person: Person) -> PersonPublic:
    """A person as the API shows them: roles listed, notification URLs only counted."""
    return PersonPublic(
        **person.model_dump(exclude={"notify_urls", "created_at"}),
        roles=sorted(roles_of(session, person_id=stored_id(person))),
        notify_channels=len([u for u in person.notify_urls.splitlines() if u.strip()]),
    )


def get_person(session: Session, person_id: Id) -> Person:
    """The person with `person_id`, or 404."""
    person = session.get(Person, person_id)
    if person is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no person with id {person_id}")
    return person


def _check_org(session: Session, organisation_id: Id | None) -> None:
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"organisation_id: no organisation {organisation_id}; create it at POST /organisations",
        )


@router.get("/roles", response_model=list[Role])
def list_roles(session: SessionDep, _caller: CurrentCaller) -> list[Role]:
    """The ITSS roles."""
    return list(session.exec(select(Role).order_by(Role.key)))


@router.get("/people/me", response_model=PersonPublic)
def me(session: SessionDep, caller: CurrentCaller) -> PersonPublic:
    """Who the token belongs to."""
    return public(session, caller.person)


@router.get("/people", response_model=list[PersonPublic])
def list_people(session: SessionDep, caller: CurrentCaller) -> list[PersonPublic]:
    """Everyone in the directory the caller sees (customers: the provider's people and their own)."""
    query = select(Person).where(visible(caller.scope, Person)).order_by(col(Person.id))
    return [public(session, p) for p in session.exec(query)]


@router.post("/people", response_model=PersonPublic, status_code=status.HTTP_201_CREATED)
def post_person(data: PersonCreate, session: SessionDep, caller: AdminCaller) -> PersonPublic:
    """Add a person with roles (admin)."""
    _check_org(session, data.organisation_id)
    person = create_person(
        session, name=data.name, roles=data.roles, actor=caller.actor, email=data.email,
        display_name=data.display_name, phone=data.phone, organisation_id=data.organisation_id,
        notify_urls=data.notify_urls,
    )
    person.contract_scoped = data.contract_scoped
    session.commit()
    return public(session, person)


@router.get("/people/{person_id}", response_model=PersonPublic)
def read_person(person_id: Id, session: SessionDep, caller: CurrentCaller) -> PersonPublic:
    """One person."""
    return public(session, load_visible(session, caller, Person, person_id, "person"))


@router.patch("/people/{person_id}", response_model=PersonPublic)
def patch_person(
    person_id: Id, changes: PersonUpdate, session: SessionDep, caller: AdminCaller
) -> PersonPublic:
    """Change a person's details, roles or notification URLs (admin)."""
    person = get_person(session, person_id)
    values = changes.model_dump(exclude_unset=True)
    _check_org(session, values.get("organisation_id"))
    before = {"roles": sorted(roles_of(session, person_id=person_id)), "active": person.active}
    roles = values.pop("roles", None)
    urls = values.pop("notify_urls", None)
    person.sqlmodel_update(values)
    if urls is not None:
        person.notify_urls = "\n".join(urls)
    if roles is not None:
        set_roles(session, person_id=person_id, roles=roles)
    session.add(person)
    session.flush()
    if active_admin_count(session) == 0:  # nobody could manage people, tokens or roles any more
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, f"person {person_id} is the last active admin: make someone "
                            "else an admin first, then deactivate this person or drop their admin role")
    after = {"roles": sorted(roles_of(session, person_id=person_id)), "active": person.active}
    # Notification URLs may hold secrets: the audit says they changed, never what they are.
    changed = sorted(values) + (["notify_urls"] if urls is not None else [])
    record_audit(session, actor=caller.actor, action="person.updated", record_type="person",
                 record_id=person_id, before=before, after=after, detail=f"fields: {', '.join(changed)}")
    session.commit()
    return public(session, person)


@router.get("/organisations", response_model=list[OrganisationPublic])
def list_orgs(session: SessionDep, caller: CurrentCaller) -> list[Organisation]:
    """Provider and customer organisations (customers see the providers and their own)."""
    return list(session.exec(select(Organisation).where(visible(caller.scope, Organisation))
                             .order_by(col(Organisation.id))))


@router.post("/organisations", response_model=OrganisationPublic, status_code=status.HTTP_201_CREATED)
def post_org(data: OrganisationCreate, session: SessionDep, caller: AdminCaller) -> Organisation:
    """Add an organisation (admin)."""
    if session.exec(select(Organisation.id).where(Organisation.name == data.name)).first():
        raise DuplicateError("name", data.name, "use the existing organisation")
    org = Organisation.model_validate(data)
    session.add(org)
    session.flush()
    record_audit(session, actor=caller.actor, action="organisation.created", record_type="organisation",
                 record_id=org.id, after=data.model_dump(mode="json"))
    session.commit()
    return org

"""Policies: YAML documents of rules, loaded into a compiled :class:`~engine.ir.Program`."""

from .loader import Policy, find_policy, load_policy, policy_from_text, shipped_policies, policy_json_schema

__all__ = ["Policy", "find_policy", "load_policy", "policy_from_text", "shipped_policies", "policy_json_schema"]

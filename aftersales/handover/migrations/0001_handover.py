from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.handover.models import ItemState, PromiseStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0006_outbox_error_code')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Promise',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ref', fields.CharField(default='', db_index=True, max_length=100)),
                ('customer_id', fields.IntField(null=True, db_index=True)),
                ('text', fields.TextField(unique=False)),
                ('due_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=PromiseStatus.OPEN, description='OPEN: open\nKEPT: kept\nBROKEN: broken', enum_type=PromiseStatus, max_length=16)),
                ('made_by', fields.ForeignKeyField('core.User', source_field='made_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('made_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_by', fields.ForeignKeyField('core.User', source_field='closed_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('note', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'promises', 'app': 'handover', 'pk_attr': 'id', 'table_description': 'What an agent told a buyer the desk would do, and by when ("call back after 21:00").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Shift',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=64)),
                ('start_minute', fields.IntField()),
                ('end_minute', fields.IntField()),
                ('weekdays', fields.IntField(default=127)),
                ('time_zone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('active', fields.BooleanField(default=True)),
                ('position', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'shifts', 'app': 'handover', 'pk_attr': 'id', 'table_description': 'A stretch of the day a team works, in its own time zone, which may cross midnight.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Handover',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('from_shift', fields.ForeignKeyField('handover.Shift', source_field='from_shift_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('from_day', fields.DateField(null=True)),
                ('from_name', fields.CharField(default='', max_length=64)),
                ('to_shift', fields.ForeignKeyField('handover.Shift', source_field='to_shift_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('to_day', fields.DateField(null=True)),
                ('to_name', fields.CharField(default='', max_length=64)),
                ('time_zone', fields.CharField(default='Asia/Shanghai', max_length=64)),
                ('window_start', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('window_end', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('morning_check', fields.BooleanField(default=False)),
                ('drafted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('handed_over_by', fields.ForeignKeyField('core.User', source_field='handed_over_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('handed_over_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_by', fields.ForeignKeyField('core.User', source_field='acknowledged_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'handovers', 'app': 'handover', 'pk_attr': 'id', 'table_description': 'What one shift instance hands to the next: drafted once, handed over, acknowledged.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HandoverEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('handover', fields.ForeignKeyField('handover.Handover', source_field='handover_id', db_constraint=True, to_field='id', related_name='items', on_delete=OnDelete.CASCADE)),
                ('ref', fields.CharField(max_length=100)),
                ('module', fields.CharField(max_length=32)),
                ('severity', fields.CharField(max_length=16)),
                ('urgent', fields.BooleanField(default=False)),
                ('msgid', fields.TextField(unique=False)),
                ('params', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('todo', fields.TextField(default='', unique=False)),
                ('if_fails', fields.TextField(default='', unique=False)),
                ('href', fields.CharField(default='', max_length=255)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('customer_id', fields.IntField(null=True)),
                ('state', fields.CharEnumField(default=ItemState.OPEN, description='OPEN: open\nDONE: done\nCARRIED: carried', enum_type=ItemState, max_length=16)),
                ('first_listed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('done_by', fields.ForeignKeyField('core.User', source_field='done_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acknowledged_by', fields.ForeignKeyField('core.User', source_field='acknowledged_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('acknowledged_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('readback', fields.TextField(default='', unique=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'handover_items', 'app': 'handover', 'unique_together': (('handover', 'ref'),), 'pk_attr': 'id', 'table_description': 'One item of one handover (``core.cases.HandoverItem`` as it was handed over).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HandoverNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('handover', fields.ForeignKeyField('handover.Handover', source_field='handover_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('core.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('text', fields.TextField(unique=False)),
                ('ref', fields.CharField(default='', max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'handover_notes', 'app': 'handover', 'pk_attr': 'id', 'table_description': 'What only the outgoing agents know, added to the handover before it is handed over.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RotaEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('shift', fields.ForeignKeyField('handover.Shift', source_field='shift_id', db_constraint=True, to_field='id', related_name='rota', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField(db_index=True)),
                ('user', fields.ForeignKeyField('core.User', source_field='user_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'rota_entries', 'app': 'handover', 'unique_together': (('shift', 'day', 'user'),), 'pk_attr': 'id', 'table_description': '``user`` works ``shift`` on the instance starting on local date ``day``.'},
            bases=['Model'],
        ),
    ]

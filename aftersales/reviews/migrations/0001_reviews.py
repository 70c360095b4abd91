from tortoise import migrations
from tortoise.migrations import operations as ops
from aftersales.core.reasons import ReasonCode
from aftersales.reviews.classify import Sentiment
from aftersales.reviews.models import ContactChannel, ContactResult, RemedyKind, ReplyState, ReviewCaseStatus, ReviewOutcome, ReviewResult
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0006_outbox_error_code'), ('orders', '0004_sync_error_code'), ('refunds', '0004_worked_in')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Review',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('platform_review_id', fields.CharField(max_length=64)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('platform_order_id', fields.CharField(default='', max_length=64)),
                ('platform_item_id', fields.CharField(default='', db_index=True, max_length=64)),
                ('product_title', fields.CharField(default='', max_length=255)),
                ('reviewer_nick', fields.CharField(default='', max_length=128)),
                ('rating', fields.SmallIntField(null=True)),
                ('result', fields.CharEnumField(null=True, description='GOOD: good\nNEUTRAL: neutral\nBAD: bad', enum_type=ReviewResult, max_length=8)),
                ('text', fields.TextField(default='', unique=False)),
                ('append_text', fields.TextField(null=True, unique=False)),
                ('appended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seller_reply', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('platform_updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('synced_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('negative', fields.BooleanField(default=False, db_index=True)),
                ('sentiment', fields.CharEnumField(description='NEGATIVE: negative\nNEUTRAL: neutral\nPOSITIVE: positive', enum_type=Sentiment, max_length=8)),
                ('confidence', fields.FloatField(default=0.0)),
                ('reasons', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('model_version', fields.CharField(default='', max_length=32)),
                ('corrected_by', fields.ForeignKeyField('core.User', source_field='corrected_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('corrected_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reviews', 'app': 'reviews', 'unique_together': (('store', 'platform_review_id'),), 'pk_attr': 'id', 'table_description': 'One buyer review. ``platform_updated_at`` orders updates: an older one never wins.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewCase',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('order', fields.ForeignKeyField('orders.Order', source_field='order_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('platform_order_id', fields.CharField(max_length=64)),
                ('platform_status', fields.CharField(default='', max_length=64)),
                ('currency', fields.CharField(default='CNY', max_length=3)),
                ('reason', fields.CharEnumField(default=ReasonCode.OTHER, description='QUALITY: quality\nNOT_AS_DESCRIBED: not_as_described\nSIZE_FIT: size_fit\nDAMAGED: damaged\nWRONG_OR_MISSING: wrong_or_missing\nNOT_RECEIVED: not_received\nLOGISTICS: logistics\nCHANGED_MIND: changed_mind\nPRICE: price\nSERVICE: service\nAUTHENTICITY: authenticity\nOTHER: other', enum_type=ReasonCode, max_length=24)),
                ('buyer_text', fields.TextField(default='', unique=False)),
                ('due_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('platform_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('escalated', fields.BooleanField(default=False)),
                ('assignee', fields.ForeignKeyField('core.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('core.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.TextField(default='', unique=False)),
                ('version', fields.IntField(default=1)),
                ('requested_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('review', fields.OneToOneField('reviews.Review', source_field='review_id', db_constraint=True, to_field='id', related_name='case', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(db_index=True, description='NEW: new\nTRIAGED: triaged\nCONTACTING: contacting\nREMEDY_OFFERED: remedy_offered\nEXPLANATION_POSTED: explanation_posted\nAWAITING_BUYER: awaiting_buyer\nCLOSED: closed', enum_type=ReviewCaseStatus, max_length=24)),
                ('outcome', fields.CharEnumField(null=True, description='REVISED: revised\nPOSITIVE_FOLLOW_UP: positive_follow_up\nUNCHANGED: unchanged\nMALICIOUS: malicious\nWINDOW_EXPIRED: window_expired', enum_type=ReviewOutcome, max_length=24)),
                ('buyer_nick', fields.CharField(default='', max_length=128)),
                ('explain_by', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revise_by', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('first_contact_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('touched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reply_text', fields.TextField(default='', unique=False)),
                ('reply_state', fields.CharEnumField(default=ReplyState.NONE, description='NONE: none\nQUEUED: queued\nPOSTED: posted\nMANUAL: manual\nPASTED: pasted\nFAILED: failed', enum_type=ReplyState, max_length=8)),
                ('reply_posted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('action_keys', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('close_note', fields.TextField(default='', unique=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'review_cases', 'app': 'reviews', 'pk_attr': 'id', 'table_description': 'The follow-up of one negative review, until the buyer revises or the windows close.'},
            bases=['Case'],
        ),
        ops.CreateModel(
            name='ContactAttempt',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('reviews.ReviewCase', source_field='case_id', db_constraint=True, to_field='id', related_name='contacts', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharEnumField(description='CHAT: chat\nPHONE: phone\nSMS: sms\nEMAIL: email', enum_type=ContactChannel, max_length=8)),
                ('result', fields.CharEnumField(description='REACHED: reached\nNO_ANSWER: no_answer\nREFUSED: refused\nLEFT_MESSAGE: left_message', enum_type=ContactResult, max_length=16)),
                ('note', fields.TextField(default='', unique=False)),
                ('contacted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('by', fields.ForeignKeyField('core.User', source_field='by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'review_contacts', 'app': 'reviews', 'pk_attr': 'id', 'table_description': 'One try to reach the buyer: when, how, what came of it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Remedy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('case', fields.ForeignKeyField('reviews.ReviewCase', source_field='case_id', db_constraint=True, to_field='id', related_name='remedies', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='COMPENSATION: compensation\nRESEND: resend\nCOUPON: coupon\nOTHER: other', enum_type=RemedyKind, max_length=16)),
                ('amount', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('offer', fields.TextField(unique=False)),
                ('refund', fields.ForeignKeyField('refunds.Refund', source_field='refund_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('offered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('by', fields.ForeignKeyField('core.User', source_field='by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'review_remedies', 'app': 'reviews', 'pk_attr': 'id', 'table_description': 'What the shop offered, exactly, and why: never conditioned on the review.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShopScore',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('store', fields.ForeignKeyField('core.Store', source_field='store_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('description', fields.DecimalField(null=True, max_digits=4, decimal_places=2)),
                ('service', fields.DecimalField(null=True, max_digits=4, decimal_places=2)),
                ('logistics', fields.DecimalField(null=True, max_digits=4, decimal_places=2)),
                ('captured_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'review_shop_scores', 'app': 'reviews', 'unique_together': (('store', 'day'),), 'pk_attr': 'id', 'table_description': "A store's shop rating scores (DSR) on one day, as the platform showed them."},
            bases=['Model'],
        ),
        ops.AddIndex(
            model_name='Review',
            index=Index(fields=['store_id', 'created_at']),
        ),
        ops.AddIndex(
            model_name='ReviewCase',
            index=Index(fields=['closed_at']),
        ),
        ops.AddIndex(
            model_name='ReviewCase',
            index=Index(fields=['first_contact_at']),
        ),
    ]
